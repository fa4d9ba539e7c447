# Open patient cases, page after page (CommCare returns at most `limit` per page).
fetch_cases({"type": "patient", "closed": "false"}, limit=100)
log(lambda state: f"fetched {len(state['data'])} open patient cases")
