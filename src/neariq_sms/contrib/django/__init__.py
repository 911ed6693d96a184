"""``/api/sms`` in a Django project: views, URLs, settings, a migrate command.

Install ``neariq-sms[django]``, then in ``settings.py``::

    INSTALLED_APPS = [..., "neariq_sms.contrib.django"]
    NEARIQ_SMS_BUSINESS_RESOLVER = "myapp.sms.business_for"   # (request) -> business id | None
    NEARIQ_SMS_SANDBOX = True                                  # simulated provider (development)

and in ``urls.py``: ``path("", include("neariq_sms.contrib.django.urls"))``. Run
``manage.py neariq_sms_migrate`` once per release (as ``manage.py migrate``):
the SMS tables live in ``NEARIQ_SMS_DATABASE_URL``, not in Django's models.

Every variable of the configuration table (``NEARIQ_SMS_DATABASE_URL``,
``TWILIO_ACCOUNT_SID``, ...) may be a Django setting of the same name, which
wins over the environment. The services are built on the first request, not
when Django starts, so ``manage.py migrate`` and every other command run
before the SMS database exists.
"""
