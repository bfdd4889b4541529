"""Reminders for upcoming shows: "Remind me", the .ics file and the go-live notice."""
