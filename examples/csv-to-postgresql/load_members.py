# Bound parameters only: names like "O'Brien" or anything else in the export are data.
upsert("members", ["member_id"], S.data, returning=["member_id"])
