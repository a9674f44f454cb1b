"""The weekly report rendered for people and programs: HTML (charts drawn on the server, so it
reads in a mail program and prints), CSV, JSON and PDF, and the e-mail that carries it."""
