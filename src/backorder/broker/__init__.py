"""NATS JetStream in front of channel intake (BACKORDER_BROKER_URL): the connection, the
stream and its one durable pull consumer (`jetstream`), the publisher the API answers
channels from (`publisher`), and the consumer that stores and places (`consumer`).

Every module here imports nats-py: import them only when a broker is configured, so that
the command line and an API without a broker start as fast as before. What a message does
to the database is `backorder.services.broker_intake`."""
