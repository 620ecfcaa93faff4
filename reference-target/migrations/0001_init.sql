-- Reference target schema, version 1: tenants, org units, users, rooms, members, messages.
CREATE TABLE tenants (
  id         text PRIMARY KEY,
  name       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE org_units (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id  text NOT NULL REFERENCES tenants(id),
  name       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX org_units_tenant ON org_units (tenant_id, created_at);

CREATE TABLE users (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id     text NOT NULL REFERENCES tenants(id),
  org_id        uuid NOT NULL REFERENCES org_units(id),
  email         text NOT NULL,
  password_hash text NOT NULL,
  name          text NOT NULL,
  title         text,
  role          text NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'manager', 'user')),
  status        text NOT NULL DEFAULT 'active',
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_tenant_email ON users (tenant_id, lower(email));

CREATE TABLE rooms (
  seq        bigserial UNIQUE,
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id  text NOT NULL REFERENCES tenants(id),
  name       text NOT NULL,
  room_type  text NOT NULL CHECK (room_type IN ('group', 'direct')),
  created_by uuid NOT NULL REFERENCES users(id),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE room_members (
  room_id       uuid NOT NULL REFERENCES rooms(id),
  user_id       uuid NOT NULL REFERENCES users(id),
  tenant_id     text NOT NULL,
  room_seq      bigint NOT NULL,
  last_read_seq bigint NOT NULL DEFAULT 0,
  joined_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_members_user ON room_members (tenant_id, user_id, room_seq DESC);

CREATE TABLE messages (
  seq        bigserial UNIQUE,
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id  text NOT NULL,
  room_id    uuid NOT NULL REFERENCES rooms(id),
  sender_id  uuid NOT NULL REFERENCES users(id),
  body       text NOT NULL,
  meta_json  jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX messages_room_seq ON messages (room_id, seq DESC);
