# Each Patient has an id (the CommCare case id), so the transaction PUTs it: the first
# run creates it, later runs update it.
transaction(S.data.patients)
fn(lambda state: {
    **state,
    "data": {"saved": [entry["response"]["location"] for entry in state["data"]["entry"]]},
})
