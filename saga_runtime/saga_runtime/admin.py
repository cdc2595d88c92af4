from confluent_kafka import KafkaException
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.views.main import PAGE_VAR
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path

from .conf import get_config
from .dead_letters import contract_topics, parked_records, replay_dead_letters
from .models import DeadLetter, OutboxMessage, ProcessedEvent


class SagaOwnedAdmin(admin.ModelAdmin):
    """For state only the saga may change: listed and shown, never added, edited or deleted.

    A hand edit here would move one service's state without the events the others wait for.
    """

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(SagaOwnedAdmin):
    list_display = ["id", "event_type", "key", "topic", "created_at", "sent_at"]
    list_filter = [("sent_at", admin.EmptyFieldListFilter), "event_type", "topic"]
    search_fields = ["key", "event_id"]


@admin.register(ProcessedEvent)
class ProcessedEventAdmin(SagaOwnedAdmin):
    list_display = ["consumer", "event_id", "topic", "processed_at"]
    list_filter = ["consumer", "topic"]
    search_fields = ["event_id"]


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    """One page: the records this service's worker parked on the ``.DLT`` topics, read from the
    topics on each visit and shown ``list_per_page`` (100) at a time, and a replay of the
    selected ones (the code ``replay_dead_letters`` runs). Nothing is added, edited or deleted
    here (docs/decisions/0012).

    Seeing it takes a staff account with the *view dead letter* permission; replaying, the
    *replay dead letters* permission (a superuser has both).
    """

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_changelist"
        return [path("", self.admin_site.admin_view(self.changelist_view), name=name)]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_replay_permission(self, request) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.replay_deadletter")

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            return self._replay(request)
        config = get_config()
        try:
            records, others = parked_records(config, contract_topics(config))
        except KafkaException as error:
            self.message_user(
                request, f"The .DLT topics could not be read: {error}", messages.ERROR
            )
            records, others = [], []
        page = Paginator(records, self.list_per_page).get_page(request.GET.get(PAGE_VAR))
        context = {
            **self.admin_site.each_context(request),
            "title": "Dead letters",
            "opts": self.opts,
            "service": config.service,
            "total": len(records),
            "records": page.object_list,
            "page": page,
            "page_var": PAGE_VAR,
            "waiting": sum(record.replayed_at is None for record in records),
            "others": len(others),
            "can_replay": self.has_replay_permission(request),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/saga_runtime/dead_letters.html", context)

    def _replay(self, request):
        if not self.has_replay_permission(request):
            raise PermissionDenied
        selected = set(request.POST.getlist(ACTION_CHECKBOX_NAME))
        if not selected:
            self.message_user(request, "Select the records to replay.", messages.WARNING)
            return HttpResponseRedirect(request.get_full_path())
        config = get_config()
        try:
            replayed = replay_dead_letters(config, contract_topics(config), only=selected)
        except KafkaException as error:
            self.message_user(request, f"Replay stopped: {error}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        self.message_user(
            request,
            f"{len(replayed)} records replayed"
            + (f": {', '.join(record.id for record in replayed)}." if replayed else "."),
            messages.SUCCESS if replayed else messages.WARNING,
        )
        return HttpResponseRedirect(request.get_full_path())
