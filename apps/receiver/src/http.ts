/** Hono variables the receiver sets on every request. */
export type ReceiverEnvVars = { Variables: { requestId: string } };
