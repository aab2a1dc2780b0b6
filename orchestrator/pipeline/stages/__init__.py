"""The five stages, one module each (PROCESS also has its selection of work and its dispatcher hooks)."""
