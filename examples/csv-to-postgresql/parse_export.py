# The export is semicolon-separated with a header row. Amounts use a decimal comma and
# dates are day/month/year; the database wants numbers and ISO dates.
from datetime import datetime
from decimal import Decimal


def member(row):
    return {
        "member_id": row["Member ID"],
        "full_name": " ".join(row["Name"].split()),
        "village": row["Village"],
        "joined_on": datetime.strptime(row["Joined"], "%d/%m/%Y").date().isoformat(),
        "savings": str(Decimal(row["Savings"].replace(",", "."))),
    }


parse_csv(S.data.csv, {"delimiter": ";", "trim": True})
assert_(lambda state: all(row["Member ID"] for row in state["data"]), "a row has no Member ID")
map(S.data, member)
log(lambda state: f"{len(state['data'])} members in the export")
