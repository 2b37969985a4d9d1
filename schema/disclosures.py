"""What a response disclosed, and about whom: recorded while it resolves, written to the ledger after.

Each audience schema wraps the resolvers of person-related fields on the types listed in
``SUBJECTS``: when such a field resolves a value (anything but null: an empty list still tells the
caller there is none), ``(subject kind, pk) -> field class`` goes into ``context.disclosed``. Types
with person-related fields that are not subjects are reached only through a subject's field, which
records their class on the subject (``Person.identity`` records ``identity`` for the person);
``tests/auth/test_ledger_subjects.py`` checks that every such type is one or the other.

A ``__typename``-only selection discloses something too: that the record exists and is in the caller's
scope. Every field that returns a subject type therefore records ``structure`` for each object it
returns when its selection asks for ``__typename`` (which has no resolver of its own to wrap), so
"who looked up person X" is complete.

Variables are recorded with their sensitive values removed (``redact_variables``): a value is kept
only when its GraphQL type is an ID, a Boolean, an Int, a Float or an enum; every String and every
other scalar (dates, money, free text, names, addresses) becomes ``"[redacted]"``. Input objects
and lists are walked with the same rule, so the shape of the input survives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from operator import attrgetter
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLFieldResolver,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLResolveInfo,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    default_field_resolver,
    get_named_type,
    type_from_ast,
)
from graphql.pyutils import is_awaitable

from auth.classes import FieldClass
from auth.policy import field_class

F = FieldClass

#: Field classes whose disclosure is recorded per person or victim record.
PERSON_CLASSES = frozenset(
    {
        F.PUBLIC_PERSON,
        F.IDENTITY,
        F.IDENTIFIERS,
        F.CUSTODY_DETAIL,
        F.RELEASE,
        F.PROGRAMS,
        F.HEALTH,
        F.SUBSTANCE_USE,
        F.VICTIMS,
        F.REFERRALS,
    }
)

#: GraphQL type -> the records an object of it is about: (subject kind, private attribute with its pk).
#: Kinds are ``person`` and ``victim``, or a row that leads to them (``auth.ledger.INDIRECT``), turned
#: into people and victims with one statement per kind when the event is written.
SUBJECTS: dict[str, tuple[tuple[str, str], ...]] = {
    "Person": (("person", "pk"),),
    "Enrollment": (("person", "person_pk"),),
    "Referral": (("person", "person_pk"),),
    "Consent": (("person", "person_pk"),),
    "ServiceDelivered": (("referral", "referral_pk"),),
    "ParoleHearing": (("hearing", "pk"),),
    "CustodyEvent": (("custody_event", "pk"),),
    "Victim": (("victim", "pk"),),
    "VictimRegistration": (("victim", "victim_pk"), ("person", "person_pk")),
    "RestitutionOrder": (("person", "person_pk"), ("victim", "payee_pk")),
    "Notification": (("registration", "registration_pk"),),
    "ImpactStatement": (("registration", "registration_pk"),),
    "RestitutionPayment": (("restitution_payment", "pk"),),
}

#: Types with person-related fields that are only reached through a field of a subject above, which
#: records their class on that subject. (Other types' person-related fields, e.g. ``Facility.population``
#: or ``Inquiry.subject``, return subjects, which record themselves.)
COVERED = frozenset(
    {
        "PersonIdentity",
        "PersonIdentifiers",
        "Charge",
        "Sentence",
        "CustodyPeriod",
        "SupervisionPeriod",
        "ConductReport",
        "HealthNeed",
        "ReparativeActivity",
        "NotificationPreference",
        "DeliveryAttempt",
        "HearingParticipation",
        "ProtectionCondition",
    }
)

Disclosed = dict[tuple[str, int], set[str]]


def _recording(
    resolve: GraphQLFieldResolver, subjects: tuple[tuple[str, str], ...], cls: str
) -> GraphQLFieldResolver:
    getters = tuple((kind, attrgetter(attr)) for kind, attr in subjects)

    def record(source: Any, disclosed: Disclosed) -> None:
        for kind, get in getters:
            pk = get(source)
            if pk is not None:
                classes = disclosed.get((kind, pk))
                if classes is None:
                    disclosed[(kind, pk)] = {cls}
                else:
                    classes.add(cls)

    async def settle(value: Any, source: Any, info: GraphQLResolveInfo[Any]) -> Any:
        value = await value
        if value is not None:
            record(source, info.context.disclosed)
        return value

    def resolver(source: Any, info: GraphQLResolveInfo[Any], /, **args: Any) -> Any:
        value = resolve(source, info, **args)
        if is_awaitable(value):
            return settle(value, source, info)
        if value is not None:
            record(source, info.context.disclosed)
        return value

    return resolver


TYPENAME = "__typename"
STRUCTURE = str(F.STRUCTURE)


def _asks_typename(selections: SelectionSetNode | None, fragments: Mapping[str, Any], depth: int = 0) -> bool:
    """Whether a selection set (through its fragments) selects ``__typename`` on the object itself."""
    if selections is None or depth > 16:
        return False
    for node in selections.selections:
        if isinstance(node, FieldNode):
            if node.name.value == TYPENAME:
                return True
        elif isinstance(node, InlineFragmentNode):
            if _asks_typename(node.selection_set, fragments, depth + 1):
                return True
        elif isinstance(node, FragmentSpreadNode):
            fragment = fragments.get(node.name.value)
            if fragment is not None and _asks_typename(fragment.selection_set, fragments, depth + 1):
                return True
    return False


def _record_structure(value: Any, subjects: tuple[tuple[str, Any], ...], disclosed: Disclosed) -> None:
    if value is None:
        return
    if isinstance(value, list | tuple):
        for item in value:
            _record_structure(item, subjects, disclosed)
        return
    for kind, get in subjects:
        pk = get(value)
        if pk is not None:
            disclosed.setdefault((kind, pk), set()).add(STRUCTURE)


def _typename_recording(resolve: GraphQLFieldResolver) -> GraphQLFieldResolver:
    """Records ``structure`` for the subjects a field returns when ``__typename`` is asked of them."""
    #: The subjects of the field's return type, decided at its first call (the type is fixed per field).
    decided: list[tuple[tuple[str, Any], ...] | None] = []

    def record(value: Any, info: GraphQLResolveInfo[Any]) -> None:
        subjects = decided[0]
        if subjects is not None and any(
            _asks_typename(n.selection_set, info.fragments) for n in info.field_nodes
        ):
            _record_structure(value, subjects, info.context.disclosed)

    async def settle(value: Any, info: GraphQLResolveInfo[Any]) -> Any:
        value = await value
        record(value, info)
        return value

    def resolver(source: Any, info: GraphQLResolveInfo[Any], /, **args: Any) -> Any:
        value = resolve(source, info, **args)
        if not decided:
            subjects = SUBJECTS.get(get_named_type(info.return_type).name)
            decided.append(None if subjects is None else tuple((k, attrgetter(a)) for k, a in subjects))
            if subjects is None:
                # A field that never returns a subject gets its own resolver back in this audience's
                # schema (graphql-core reads it at every call), so the check costs nothing from now on.
                info.parent_type.fields[info.field_name].resolve = resolve
        if decided[0] is None:
            return value
        if is_awaitable(value):
            return settle(value, info)
        record(value, info)
        return value

    return resolver


def record_disclosures(
    type_name: str, field_name: str, resolve: GraphQLFieldResolver | None
) -> GraphQLFieldResolver | None:
    """``filter_schema``'s wrap hook: person-related fields of subject types record what they show,
    and any field that returns subjects records ``structure`` when ``__typename`` is asked of them."""
    wrapped = resolve
    subjects = SUBJECTS.get(type_name)
    if subjects is not None:
        cls = field_class(type_name, field_name)
        if cls in PERSON_CLASSES:
            wrapped = _recording(resolve or default_field_resolver, subjects, str(cls))
    if type_name.startswith("__"):
        return wrapped
    return _typename_recording(wrapped or default_field_resolver)


# --- variables --------------------------------------------------------------------------------------

REDACTED = "[redacted]"
_KEPT_SCALARS = frozenset({"ID", "Boolean", "Int", "Float"})


def _redact(value: Any, t: Any) -> Any:
    if value is None:
        return None
    if isinstance(t, GraphQLNonNull):
        return _redact(value, t.of_type)
    if isinstance(t, GraphQLList):
        if isinstance(value, list):
            return [_redact(v, t.of_type) for v in value]
        return _redact(value, t.of_type)
    if isinstance(t, GraphQLEnumType):
        return value if isinstance(value, str) else REDACTED
    if isinstance(t, GraphQLInputObjectType):
        if not isinstance(value, Mapping):
            return REDACTED
        fields = t.fields
        return {k: (_redact(v, fields[k].type) if k in fields else REDACTED) for k, v in value.items()}
    if getattr(t, "name", None) in _KEPT_SCALARS and isinstance(value, bool | int | float | str):
        return value
    return REDACTED


def redact_variables(
    schema: GraphQLSchema, operation: OperationDefinitionNode | None, variables: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """``variables`` with every sensitive value replaced (see the module docstring for the rule)."""
    if not variables:
        return None
    declared: dict[str, Any] = {}
    if operation is not None:
        for definition in operation.variable_definitions or ():
            declared[definition.variable.name.value] = type_from_ast(schema, definition.type)
    # A variable the operation does not declare is never used; its value is still not recorded.
    return {name: _redact(value, declared.get(name)) for name, value in variables.items()}


Wrap = Callable[[str, str, GraphQLFieldResolver | None], GraphQLFieldResolver | None]
