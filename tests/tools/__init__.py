"""Tests of flowodm.tools."""
