-- Schema of the release before migrations (main at e84c661), as its create_all made it on sqlite.
-- Generated once from that release's store/tables.py and store/health.py; never edit.

CREATE TABLE routing_configs (
	id INTEGER NOT NULL, 
	version INTEGER NOT NULL, 
	author VARCHAR NOT NULL, 
	created_at DATETIME NOT NULL, 
	document TEXT NOT NULL, 
	PRIMARY KEY (id)
);

CREATE UNIQUE INDEX ix_routing_configs_version ON routing_configs (version);

CREATE TABLE interaction_facts (
	interaction_id VARCHAR NOT NULL, 
	workflow_id VARCHAR NOT NULL, 
	channel VARCHAR NOT NULL, 
	initial_channel VARCHAR NOT NULL, 
	segment VARCHAR NOT NULL, 
	language VARCHAR NOT NULL, 
	region VARCHAR NOT NULL, 
	intent VARCHAR NOT NULL, 
	confidence FLOAT NOT NULL, 
	pattern VARCHAR NOT NULL, 
	route VARCHAR NOT NULL, 
	pool VARCHAR NOT NULL, 
	outcome VARCHAR NOT NULL, 
	escalation_trigger VARCHAR, 
	model_version VARCHAR, 
	classifier_version VARCHAR NOT NULL, 
	config_version INTEGER NOT NULL, 
	ai_endpoint VARCHAR, 
	human_queue VARCHAR, 
	human_agent VARCHAR, 
	started_at VARCHAR NOT NULL, 
	ended_at VARCHAR NOT NULL, 
	turns INTEGER NOT NULL, 
	ai_seconds FLOAT NOT NULL, 
	queue_seconds FLOAT NOT NULL, 
	human_seconds FLOAT NOT NULL, 
	total_seconds FLOAT NOT NULL, 
	ai_calls INTEGER NOT NULL, 
	ai_failures INTEGER NOT NULL, 
	ai_latency_ms_total FLOAT NOT NULL, 
	ai_latency_ms_max FLOAT NOT NULL, 
	prompt_tokens INTEGER NOT NULL, 
	completion_tokens INTEGER NOT NULL, 
	cost_usd FLOAT NOT NULL, 
	csat INTEGER, 
	reservation_released BOOLEAN NOT NULL, 
	saved_wait_seconds FLOAT NOT NULL, 
	channel_switches INTEGER NOT NULL, 
	started_at_utc DATETIME NOT NULL, 
	PRIMARY KEY (interaction_id)
);

CREATE INDEX ix_interaction_facts_endpoint_started ON interaction_facts (ai_endpoint, started_at_utc);

CREATE INDEX ix_interaction_facts_started_at_utc ON interaction_facts (started_at_utc);

CREATE TABLE audit_events (
	id INTEGER NOT NULL, 
	stream VARCHAR NOT NULL, 
	seq INTEGER NOT NULL, 
	position INTEGER NOT NULL, 
	kind VARCHAR NOT NULL, 
	at VARCHAR NOT NULL, 
	actor VARCHAR NOT NULL, 
	payload TEXT NOT NULL, 
	prev_hash VARCHAR NOT NULL, 
	hash VARCHAR NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_audit_events_stream_seq UNIQUE (stream, seq), 
	CONSTRAINT uq_audit_events_stream_position UNIQUE (stream, position)
);

CREATE TABLE transcript_archive (
	id INTEGER NOT NULL, 
	interaction_id VARCHAR NOT NULL, 
	run_index INTEGER NOT NULL, 
	entries TEXT NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_transcript_archive_run UNIQUE (interaction_id, run_index)
);

CREATE TABLE shadow_answers (
	id INTEGER NOT NULL, 
	interaction_id VARCHAR NOT NULL, 
	turn INTEGER NOT NULL, 
	endpoint VARCHAR NOT NULL, 
	live_model_version VARCHAR NOT NULL, 
	live_text TEXT NOT NULL, 
	shadow_text TEXT, 
	shadow_action VARCHAR, 
	latency_ms FLOAT NOT NULL, 
	error TEXT, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_shadow_answer_turn UNIQUE (interaction_id, turn, endpoint)
);

CREATE INDEX ix_shadow_answers_endpoint ON shadow_answers (endpoint);

CREATE TABLE supervision_policies (
	id INTEGER NOT NULL, 
	version INTEGER NOT NULL, 
	author VARCHAR NOT NULL, 
	created_at DATETIME NOT NULL, 
	change_key VARCHAR, 
	document TEXT NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (change_key)
);

CREATE UNIQUE INDEX ix_supervision_policies_version ON supervision_policies (version);

CREATE TABLE review_decisions (
	id INTEGER NOT NULL, 
	interaction_id VARCHAR NOT NULL, 
	draft_id VARCHAR NOT NULL, 
	decision VARCHAR NOT NULL, 
	reviewer_id VARCHAR NOT NULL, 
	decided_at DATETIME NOT NULL, 
	held_since DATETIME, 
	intent VARCHAR NOT NULL, 
	channel VARCHAR NOT NULL, 
	mode VARCHAR NOT NULL, 
	model_version VARCHAR, 
	turn INTEGER, 
	draft_text TEXT NOT NULL, 
	sent_text TEXT, 
	reason TEXT, 
	"trigger" VARCHAR, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_review_decisions_draft UNIQUE (interaction_id, draft_id)
);

CREATE INDEX ix_review_decisions_intent_decided ON review_decisions (intent, decided_at);

CREATE INDEX ix_review_decisions_reviewer_id ON review_decisions (reviewer_id);

CREATE TABLE human_overrides (
	id INTEGER NOT NULL, 
	interaction_id VARCHAR NOT NULL, 
	seq INTEGER NOT NULL, 
	kind VARCHAR NOT NULL, 
	actor VARCHAR NOT NULL, 
	at DATETIME NOT NULL, 
	ai_decision TEXT NOT NULL, 
	human_decision TEXT NOT NULL, 
	reason TEXT, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_human_overrides_seq UNIQUE (interaction_id, seq)
);

CREATE INDEX ix_human_overrides_actor ON human_overrides (actor);

CREATE TABLE supervision_facts (
	interaction_id VARCHAR NOT NULL, 
	intent VARCHAR NOT NULL, 
	channel VARCHAR NOT NULL, 
	mode VARCHAR NOT NULL, 
	started_at DATETIME NOT NULL, 
	ended_at DATETIME NOT NULL, 
	supervised_seconds FLOAT NOT NULL, 
	drafts_held INTEGER NOT NULL, 
	reviews INTEGER NOT NULL, 
	review_wait_seconds FLOAT NOT NULL, 
	triggers TEXT NOT NULL, 
	deadline_escalations INTEGER NOT NULL, 
	qa_sampled BOOLEAN NOT NULL, 
	PRIMARY KEY (interaction_id)
);

CREATE INDEX ix_supervision_facts_intent_started ON supervision_facts (intent, started_at);

CREATE TABLE qa_reviews (
	id INTEGER NOT NULL, 
	interaction_id VARCHAR NOT NULL, 
	reviewer_id VARCHAR NOT NULL, 
	intent VARCHAR NOT NULL, 
	channel VARCHAR NOT NULL, 
	resolved_correctly BOOLEAN NOT NULL, 
	reviewed_at DATETIME NOT NULL, 
	notes TEXT, 
	PRIMARY KEY (id), 
	UNIQUE (interaction_id)
);

CREATE INDEX ix_qa_reviews_intent_reviewed ON qa_reviews (intent, reviewed_at);

CREATE TABLE review_claims (
	id INTEGER NOT NULL, 
	workflow_id VARCHAR NOT NULL, 
	draft_id VARCHAR NOT NULL, 
	reviewer_id VARCHAR NOT NULL, 
	slot INTEGER NOT NULL, 
	claimed_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_review_claims_draft UNIQUE (workflow_id, draft_id), 
	CONSTRAINT uq_review_claims_slot UNIQUE (reviewer_id, slot)
);

CREATE TABLE fleet_events (
	id INTEGER NOT NULL, 
	"key" VARCHAR NOT NULL, 
	kind VARCHAR NOT NULL, 
	config_version INTEGER, 
	payload TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);

CREATE UNIQUE INDEX ix_fleet_events_key ON fleet_events ("key");

CREATE TABLE fleet_breakers (
	name VARCHAR NOT NULL, 
	version VARCHAR NOT NULL, 
	state VARCHAR NOT NULL, 
	revision INTEGER NOT NULL, 
	row_version INTEGER NOT NULL, 
	since FLOAT NOT NULL, 
	opened_at FLOAT NOT NULL, 
	open_seconds FLOAT NOT NULL, 
	probe_owner VARCHAR, 
	probe_claimed_at FLOAT NOT NULL, 
	reasons TEXT NOT NULL, 
	degradation TEXT, 
	outage_started_at FLOAT, 
	recovered_at FLOAT, 
	outage_history TEXT NOT NULL, 
	baseline_cps FLOAT, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (name, version)
);

CREATE TABLE fleet_health_windows (
	worker_id VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	version VARCHAR NOT NULL, 
	revision INTEGER NOT NULL, 
	aggregate TEXT NOT NULL, 
	active_sessions INTEGER NOT NULL, 
	flushed_at FLOAT NOT NULL, 
	PRIMARY KEY (worker_id, name, version)
);

CREATE INDEX ix_fleet_health_windows_flushed_at ON fleet_health_windows (flushed_at);

CREATE TABLE wfm_outbox (
	id INTEGER NOT NULL, 
	event_id VARCHAR NOT NULL, 
	url VARCHAR NOT NULL, 
	payload TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	attempts INTEGER NOT NULL, 
	next_attempt_at FLOAT NOT NULL, 
	claimed_by VARCHAR, 
	claimed_until FLOAT NOT NULL, 
	delivered_at DATETIME, 
	last_error TEXT, 
	PRIMARY KEY (id), 
	UNIQUE (event_id)
);

CREATE INDEX ix_wfm_outbox_next_attempt_at ON wfm_outbox (next_attempt_at);

CREATE TABLE auto_rollback_outbox (
	id INTEGER NOT NULL, 
	opening VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	version VARCHAR NOT NULL, 
	from_state VARCHAR NOT NULL, 
	revision INTEGER NOT NULL, 
	reasons TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	attempts INTEGER NOT NULL, 
	next_attempt_at FLOAT NOT NULL, 
	claimed_by VARCHAR, 
	claimed_until FLOAT NOT NULL, 
	done_at DATETIME, 
	outcome VARCHAR, 
	last_error TEXT, 
	PRIMARY KEY (id), 
	UNIQUE (opening)
);

CREATE INDEX ix_auto_rollback_outbox_pending ON auto_rollback_outbox (done_at, next_attempt_at);
