"""The AWS CLI's view of services, from botocore's models: for each service named on the command
line, its operations as CLI commands with their --flags, and its waiters. Printed as one JSON object.
"""
import json
import sys

import botocore.session
from botocore import xform_name
from botocore.exceptions import UnknownServiceError


def service_commands(session, name):
    try:
        model = session.get_service_model(name)
    except UnknownServiceError:
        return None
    try:
        paginated = set(session.get_paginator_model(name)._paginator_config)
    except Exception:
        paginated = set()
    try:
        waiters = [xform_name(w, "-") for w in session.get_waiter_model(name).waiter_names]
    except Exception:
        waiters = []
    operations = {}
    for operation_name in model.operation_names:
        shape = model.operation_model(operation_name).input_shape
        members = shape.members if shape is not None else {}
        operations[xform_name(operation_name, "-")] = {
            "flags": [xform_name(member, "-") for member in members],
            "booleans": [xform_name(m, "-") for m, s in members.items() if s.type_name == "boolean"],
            "paginated": operation_name in paginated,
        }
    return {"operations": operations, "waiters": waiters}


session = botocore.session.get_session()
print(json.dumps({name: service_commands(session, name) for name in sys.argv[1:]}))
