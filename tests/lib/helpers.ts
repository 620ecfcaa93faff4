/** What the lib tests share: the k6 environment of a target on loopback (the reference target's default ports and login). */
export const TARGET_ENV = {
  CHAT_URL: 'http://127.0.0.1:8080',
  AUTH_URL: 'http://127.0.0.1:8091',
  WS_URL: 'ws://127.0.0.1:8080/ws',
  TENANT_ID: 'default',
  LOGIN_EMAIL: 'admin@example.com',
  LOGIN_PASSWORD: 'pass1234',
} as const;
