"""Sign-in by email: the dashboard's login form takes an email in Django's `username` field."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class EmailBackend(ModelBackend):
    """Authenticate by username or, failing that, by email (case-insensitive)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None or not username or password is None:
            return user
        user_model = get_user_model()
        candidates = list(user_model.objects.filter(email__iexact=username.strip())[:2])
        if len(candidates) != 1:
            # Unknown or ambiguous: run the hasher anyway so timing does not tell which.
            user_model().set_password(password)
            return None
        user = candidates[0]
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
