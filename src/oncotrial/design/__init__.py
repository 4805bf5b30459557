"""Trial design: events and sample size for time-to-event end points, power, expected
events over calendar time, and group-sequential boundaries, validated against rpact."""
