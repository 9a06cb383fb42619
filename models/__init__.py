"""Storage: SQLAlchemy 2.0 models, the database engine and the domain operations.

Nothing in here knows about Telegram, Twilio or the web: it is the shared spine of every
channel.
"""
from models.base import Base
from models.people import ChannelIdentity, Invite, Neighbourhood, Person
from models.help import HelpRequest, RequestAddress
from models.messaging import AuditLog, ConversationState, InboundLog, Outbox
from models.alerts import Alert
from models.directory import Service
from models.cases import Case
from models.broadcasts import Broadcast, BroadcastRecipient
from models.schedules import CheckinAttempt, CheckinOccurrence, CheckinPlan, FollowUp, SweepRun, Timer

__all__ = [
    "Alert", "AuditLog", "Base", "Broadcast", "BroadcastRecipient", "Case", "ChannelIdentity", "CheckinAttempt",
    "CheckinOccurrence", "CheckinPlan", "ConversationState", "FollowUp", "HelpRequest", "InboundLog", "Invite",
    "Neighbourhood", "Outbox", "Person", "RequestAddress", "Service", "SweepRun", "Timer",
]
