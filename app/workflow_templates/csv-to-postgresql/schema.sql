CREATE TABLE IF NOT EXISTS members (
  member_id text PRIMARY KEY,
  full_name text NOT NULL,
  village text NOT NULL,
  joined_on date NOT NULL,
  savings numeric(12, 2) NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);
