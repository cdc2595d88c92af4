import json
import logging

from saga_runtime.logs import ContextFilter, JsonFormatter, log_context


def test_a_log_line_is_one_json_object_with_service_and_saga_fields():
    record = logging.makeLogRecord({"msg": "record %s", "args": ("handled",), "levelname": "INFO"})
    with log_context(orderNumber="abc", eventId="e-1"):
        ContextFilter(service="order").filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "record handled"
    assert (line["service"], line["orderNumber"], line["eventId"]) == ("order", "abc", "e-1")
    assert line["level"] == "INFO"
