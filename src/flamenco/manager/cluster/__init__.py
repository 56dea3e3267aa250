"""Running one farm on several Manager processes: farm duties in one of them, events between all."""
