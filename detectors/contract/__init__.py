"""What crosses process boundaries: events and their wire form, validation, operator
actions, warning levels, the city's places."""
