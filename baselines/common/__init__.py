"""Method building blocks shared by several families (imported openly; no registrations here):
peer-prediction scores (crowdsourcing, federated incentives)."""
