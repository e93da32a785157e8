"""Session transcripts (JSON lines of events) and the memory of diagnoses."""
