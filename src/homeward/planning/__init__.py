"""Return planning: cohorts, phases, routes, capacities and security gates; the plan solved as an optimisation."""
