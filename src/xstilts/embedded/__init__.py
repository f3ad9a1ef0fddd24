"""The offline embedded default: a synthetic multilingual world written as a local hub mirror
(`hub.build_hub_mirror`) and a tiny XLM-R pretrained on it (`model.build_tiny_model`)."""
