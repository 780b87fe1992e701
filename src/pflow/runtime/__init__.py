"""Runtime: workflow IR -> validated, compiled flow of node runners over a shared store."""
