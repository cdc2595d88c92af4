import json

from djangorestframework_camel_case.settings import api_settings as camel_case
from djangorestframework_camel_case.util import underscoreize
from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, minus its two ways to fail badly on hostile input, with the wire's
    camelCase keys turned into the serializers' snake_case.

    Nesting deep enough to exhaust the stack raises RecursionError, which DRF does not catch
    (a 500); and some ValueErrors name Python internals (``sys.set_int_max_str_digits``).
    Both become a plain 400.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
            return underscoreize(data, **camel_case.JSON_UNDERSCOREIZE)
        except exceptions.ParseError as error:
            if isinstance(error.__context__, json.JSONDecodeError):
                raise  # its message says where the JSON breaks, which helps the client
            raise exceptions.ParseError("JSON parse error - a value is out of range.") from None
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from None
