# A CommCare case keeps its fields in `properties`; a FHIR Patient wants an identifier
# (the case id, so a second run updates instead of duplicating), a name, gender and birth
# date. Cases without a name are reported and left out rather than sent half-empty.
CASE_SYSTEM = "https://www.commcarehq.org/case_id"
GENDERS = {"f": "female", "female": "female", "m": "male", "male": "male"}


def patient(case):
    properties = case.get("properties", {})
    name = (properties.get("case_name") or properties.get("name") or "").strip()
    given, _, family = name.rpartition(" ")
    resource = {
        "resourceType": "Patient",
        "id": case["case_id"],
        "identifier": [{"system": CASE_SYSTEM, "value": case["case_id"]}],
        "name": [{"text": name, "family": family, "given": [given] if given else []}],
    }
    gender = GENDERS.get(str(properties.get("sex", "")).lower())
    if gender:
        resource["gender"] = gender
    if properties.get("dob"):
        resource["birthDate"] = properties["dob"]
    return resource


def keep_named(state):
    unnamed = [c["case_id"] for c in state["data"] if not patient(c)["name"][0]["text"]]
    if unnamed:
        print("skipped cases without a name:", ", ".join(unnamed))
    named = [patient(c) for c in state["data"] if c["case_id"] not in unnamed]
    return {**state, "data": {"patients": named}}


fn(keep_named)
