-- Reference target schema, version 2: what session and tenanthub store through dbman.
-- Tenants get the contract's deployment and dedicated-infrastructure fields (secret keys included: tenanthub
-- answers them to admins; the suite must never write them anywhere).
ALTER TABLE tenants
  ADD COLUMN deployment_mode            text NOT NULL DEFAULT 'shared' CHECK (deployment_mode IN ('shared', 'dedicated')),
  ADD COLUMN is_active                  boolean NOT NULL DEFAULT true,
  ADD COLUMN dedicated_dsn              text,
  ADD COLUMN dedicated_redis_addr       text,
  ADD COLUMN dedicated_lavinmq_url      text,
  ADD COLUMN dedicated_minio_endpoint   text,
  ADD COLUMN dedicated_minio_access_key text,
  ADD COLUMN dedicated_minio_secret_key text,
  ADD COLUMN dedicated_minio_bucket     text;

-- One row per (user, device): POST /session/login upserts it.
CREATE TABLE device_sessions (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id       text NOT NULL REFERENCES tenants(id),
  user_id         uuid NOT NULL REFERENCES users(id),
  device_id       text NOT NULL,
  device_name     text,
  allowed_tenants text[] NOT NULL DEFAULT '{}',
  created_at      timestamptz NOT NULL DEFAULT now(),
  last_seen_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, user_id, device_id)
);

-- The user's presence: PATCH /session/status upserts it.
CREATE TABLE user_status (
  tenant_id   text NOT NULL REFERENCES tenants(id),
  user_id     uuid NOT NULL REFERENCES users(id),
  status      text NOT NULL CHECK (status IN ('online', 'offline', 'busy', 'away', 'meeting')),
  status_note text,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, user_id)
);

CREATE TABLE notes (
  seq          bigserial UNIQUE,
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id    text NOT NULL REFERENCES tenants(id),
  sender_id    uuid NOT NULL REFERENCES users(id),
  recipient_id uuid NOT NULL REFERENCES users(id),
  body         text NOT NULL,
  read_at      timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notes_inbox ON notes (tenant_id, recipient_id, seq DESC);
