# The webhook body is {"clinic": {...}, "registrations": [...]}; DHIS2 wants tracked
# entities with attribute values keyed by attribute UID. The UIDs below are those of the
# Sierra Leone demo database; use your own instance's.
PERSON = "nEenWmSyUEp"  # tracked entity type "Person"
FIRST_NAME, LAST_NAME, SEX, NATIONAL_ID = "w75KJ2mc4zz", "zDhUuAYrxNC", "cejWyOfXge6", "AuPLng5hLbE"


def tracked_entity(registration, org_unit):
    attributes = [
        {"attribute": FIRST_NAME, "value": registration["given_name"].strip()},
        {"attribute": LAST_NAME, "value": registration["family_name"].strip()},
        {"attribute": SEX, "value": {"f": "Female", "m": "Male"}[registration["sex"].lower()]},
    ]
    if registration.get("national_id"):
        attributes.append({"attribute": NATIONAL_ID, "value": registration["national_id"]})
    return {"trackedEntityType": PERSON, "orgUnit": org_unit, "attributes": attributes}


assert_(S.data.registrations, "the request has no registrations")
fn(lambda state: {
    **state,
    "data": {
        "trackedEntities": [
            tracked_entity(r, state["data"]["clinic"]["org_unit"])
            for r in state["data"]["registrations"]
        ]
    },
})
log(lambda state: f"mapped {len(state['data']['trackedEntities'])} registrations")
