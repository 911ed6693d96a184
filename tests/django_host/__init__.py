"""A tiny Django project hosting ``neariq_sms.contrib.django``, run through Django's test client."""
