"""Text messages: a second channel with its own consent (Purpose.TEXT_MESSAGES).

- models.py: the texts sent (TextMessage, one Texting per segment texted), the texts
  received (InboundText) and the survey by text (SurveyQuestion, SurveyProgress).
- parts.py: how many parts a text takes (GSM-7 or UCS-2), what the cost estimate counts.
- gateways.py and http.py: one interface, three backends (the development outbox, SMS
  Gateway for Android, Twilio's API), chosen by SOSEDI_SMS_GATEWAY.
- services.py: composing and queueing texts; tasks.py delivers them through the worker,
  exactly once (the way supporters/tasks.py delivers mail).
- inbound.py: what a received text does: STOP, a sign-up by keyword, its confirmation,
  a survey answer, or the coordinators' inbox.
"""
