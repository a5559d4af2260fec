"""The Faust worker: validate, dead-letter, roll up and store every event."""
