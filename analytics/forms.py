"""Filters of the request log page (a GET form: every filtered view has its own URL)."""

from django import forms

from analytics.models import CacheStatus

STATUS_CHOICES = (("", "any status"), ("ok", "succeeded"), ("error", "failed"))


class RequestFilterForm(forms.Form):
    model = forms.CharField(required=False, max_length=100, label="Model")
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES, label="Status")
    cache = forms.ChoiceField(required=False, choices=(("", "any"), *CacheStatus.choices), label="Cache")
    day = forms.DateField(required=False, label="Day (UTC)", widget=forms.DateInput(attrs={"type": "date"}))
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
