"""Stintmint: post data to StintFlows and read the humans' responses (client), typed
requests and answers (models), a sandbox."""

from adapters.stintmint.client import VENDOR, StintmintClient, parse_callback
from adapters.stintmint.models import (
    COMPLETED,
    MAX_DESCRIPTORS,
    PENDING,
    Descriptor,
    DescriptorType,
    FlowResponse,
    ModuleOption,
    OptionType,
    PostAnswer,
    PostRequest,
    StateOption,
    infer_descriptor,
    parse_descriptor_type,
    validate_identifier,
    validate_sf_id,
    validate_state_id,
    validation_message,
)

__all__ = [
    "COMPLETED",
    "MAX_DESCRIPTORS",
    "PENDING",
    "VENDOR",
    "Descriptor",
    "DescriptorType",
    "FlowResponse",
    "ModuleOption",
    "OptionType",
    "PostAnswer",
    "PostRequest",
    "StateOption",
    "StintmintClient",
    "infer_descriptor",
    "parse_callback",
    "parse_descriptor_type",
    "validate_identifier",
    "validate_sf_id",
    "validate_state_id",
    "validation_message",
]
