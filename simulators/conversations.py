"""Canned customer-side texts for the traffic generator: openers per intent, follow-ups, PII.

Openers are templates with ``{slots}`` filled by ``traffic`` (order numbers, amounts, dates,
products), so one intent yields many distinct but recognisable utterances. The PII snippets use
reserved or test values only: ``example.com`` addresses, 555 phone numbers and the standard
Luhn-valid test card numbers, so redaction can be tested without real personal data.
"""

from __future__ import annotations

from collections.abc import Mapping

OPENERS: Mapping[str, tuple[str, ...]] = {
    "password_reset": (
        "I forgot my password and can't log in to my account",
        "I'm locked out after too many attempts, how do I reset my password?",
        "the password reset email never arrives, I've tried three times since {date}",
        "hi, need a new password, the old one stopped working",
    ),
    "billing_inquiry": (
        "why is my bill {amount} this month? it's usually much lower",
        "there's a charge of {amount} on my statement I don't understand",
        "can you explain the fees on my latest bill from {date}?",
        "my monthly bill went up without any notice, what happened",
    ),
    "refund_request": (
        "I'd like a refund for order {order}, it arrived damaged",
        "I was charged twice for the same thing, please refund {amount}",
        "how do I get my money back for a cancelled booking on {date}?",
        "I returned the {product} two weeks ago and still have no refund",
    ),
    "complaint": (
        "I want to make a formal complaint about the service I received",
        "this is the third time my issue has been ignored, totally unacceptable",
        "your technician was rude and left without fixing anything on {date}",
        "I'm really unhappy with how my order {order} was handled",
    ),
    "account_closure": (
        "please close my account, I don't need it anymore",
        "how do I delete my account and all my data?",
        "I'm moving abroad and want to close my account before {date}",
    ),
    "technical_support": (
        "my internet keeps dropping every few minutes",
        "the app crashes as soon as I open it",
        "my {product} shows an error code E42 and won't start",
        "wifi works on my phone but not on my laptop, what should I do",
    ),
    "order_status": (
        "where is my order {order}?",
        "can you tell me the status of order {order} placed on {date}?",
        "I ordered a {product} last week and haven't heard anything",
        "has my order shipped yet? the number is {order}",
    ),
    "shipping_delay": (
        "my package was supposed to arrive on {date} and it's still not here",
        "the delivery of order {order} is delayed again, what is going on",
        "tracking hasn't updated in five days, is my parcel lost?",
    ),
    "update_address": (
        "I moved and need to update my address",
        "please change my billing address to 42 Elm Street, Springfield",
        "how can I change the shipping address on my account before {date}?",
    ),
    "cancel_subscription": (
        "I want to cancel my subscription",
        "please stop my membership from renewing on {date}",
        "how do I cancel my {plan} plan? I don't use it anymore",
    ),
    "upgrade_plan": (
        "I'd like to upgrade to the {plan} plan",
        "what would it cost to move to a plan with more data?",
        "can I upgrade my plan today and pay the difference?",
    ),
    "payment_failed": (
        "my payment of {amount} failed and I don't know why",
        "the card payment keeps getting declined at checkout",
        "I tried to pay my bill on {date} but it didn't go through",
    ),
    "lost_card": (
        "I lost my card, please block it",
        "my wallet was stolen with my debit card in it",
        "I can't find my credit card anywhere, can you freeze it?",
    ),
    "fraud_report": (
        "there are transactions on my account I didn't make",
        "someone used my card for {amount} at a store I've never been to",
        "I think I've been scammed, there's an unauthorised payment from {date}",
    ),
    "appointment_booking": (
        "I'd like to book an appointment for {date}",
        "can I schedule a technician visit next week?",
        "is there a free slot at the {store} branch on {date}?",
    ),
    "product_information": (
        "does the {product} come with a charger?",
        "what's the difference between the {plan} and the basic plan?",
        "is the {product} compatible with my old accessories?",
    ),
    "return_item": (
        "I want to return the {product} I bought on {date}",
        "how do I send back an item from order {order}?",
        "the {product} doesn't fit, can I return it?",
    ),
    "loyalty_points": (
        "how many loyalty points do I have?",
        "my points from order {order} were never added",
        "how can I use my rewards points on a purchase?",
    ),
    "invoice_copy": (
        "can you send me a copy of my invoice for {date}?",
        "I need the invoice for order {order} for my expenses",
        "where can I download my past invoices?",
    ),
    "warranty_claim": (
        "my {product} broke after four months, is it under warranty?",
        "I'd like to make a warranty claim for a defective {product}",
        "the screen on my {product} stopped working, what does the warranty cover?",
    ),
    "change_delivery": (
        "can I change the delivery date for order {order} to {date}?",
        "please reschedule my delivery, I won't be home on {date}",
        "can the courier leave the parcel with my neighbour?",
    ),
    "store_hours": (
        "what time does the {store} store open on Sunday?",
        "are you open on public holidays?",
        "what are your opening hours at {store}?",
    ),
}

SPANISH_OPENERS: Mapping[str, tuple[str, ...]] = {
    "password_reset": ("olvidé mi contraseña y no puedo entrar a mi cuenta",),
    "billing_inquiry": ("¿por qué mi factura de este mes es de {amount}?",),
    "order_status": ("¿dónde está mi pedido {order}?",),
    "refund_request": ("quiero un reembolso del pedido {order}, llegó roto",),
    "cancel_subscription": ("quiero cancelar mi suscripción",),
    "technical_support": ("la aplicación se cierra cada vez que la abro",),
}

OUT_OF_SCOPE: tuple[str, ...] = (
    "what's the weather going to be like tomorrow?",
    "can you recommend a good pizza place near me?",
    "tell me a joke",
    "who won the football game last night?",
    "how do I say hello in Japanese?",
)

CLARIFICATIONS: tuple[str, ...] = (
    "it's the one from last week",
    "the order number is {order}",
    "yes, that's the account I mean",
    "I already tried restarting it",
    "it was about {amount}",
    "no, the other one, from {date}",
    "ok, and how long will that take?",
)

CLOSERS: tuple[str, ...] = (
    "thanks, that's all",
    "perfect, thank you!",
    "great, that solved it. bye",
    "thank you so much",
)

ANGRY: tuple[str, ...] = (
    "this is useless, I want a human",
    "you're not listening, get me a real person now",
    "this is ridiculous, I've explained it three times already",
    "this is going nowhere, let me talk to your manager",
)

HUMAN_REQUESTS: tuple[str, ...] = (
    "can I speak to an agent?",
    "I'd rather talk to a person, please",
    "please transfer me to a representative",
)

PII_SNIPPETS: tuple[str, ...] = (
    "my email is {first}.{last}@example.com",
    "you can reach me on +1 415 555 01{nn}",
    "the card number is 4111 1111 1111 1111",
    "it was charged to card 5555 5555 5555 4444",
    "call me back at (212) 555-01{nn}",
)

PRODUCTS = ("SmartHub router", "Aero headphones", "Nova phone", "Pulse watch", "Atlas laptop")
PLANS = ("Premium", "Family", "Unlimited", "Business")
STORES = ("Downtown", "Riverside", "Airport", "Westfield")
FIRST_NAMES = ("alex", "maria", "sam", "priya", "jordan", "li", "fatima", "diego")
LAST_NAMES = ("smith", "garcia", "chen", "patel", "okafor", "novak", "silva", "kim")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August")
