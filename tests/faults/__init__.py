"""Fault injection: processes killed at chosen moments, hostile pages, broken configurations."""
