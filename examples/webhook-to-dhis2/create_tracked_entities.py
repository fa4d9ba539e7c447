# One synchronous tracker import for the whole batch: DHIS2 accepts or rejects it as a
# unit and says which object failed and why.
create("trackedEntities", S.data.trackedEntities)
fn(lambda state: {**state, "data": {"created": state["data"]["stats"]["created"]}})
