"""Privacy: the data inventory, the policy, data-subject requests, the working-day calendar."""
