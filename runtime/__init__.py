"""Worker-process services: what activities use and a worker process owns.

HTTP clients for the AI fleet and the ACD, micro-batchers, caches of the routing config and
supervision policy, the fleet-health pump and its outboxes, automatic rollback, the Temporal
client factory with the payload codec, Prometheus metrics and settings. Activities hold only
activity definitions; ``workers/`` only wires these together.
"""
