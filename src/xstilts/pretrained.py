"""Facts about known pretrained models, by hub id: the layer retrieval pools, the shape that
`validate` checks and `xstilts plan` prices. A model not listed here is read from its config.json
(the hub or a mirror) or set in the config (models.<name>.retrieval_layer).
"""

# Hub id -> hidden state (0 = embeddings) that Tatoeba/BUCC pool, mean over tokens. xlm-roberta-
# large: 14, jiant's retrieval_layer default (the paper's code) and XTREME's run_tatoeba.sh
# (--specific_layer 13 of hidden_states[-24:]). mBERT: 8, XTREME's 12-layer setting (7 of
# hidden_states[-12:]). xlm-roberta-base: 8 too; XTREME's scripts give it large's settings (13 of
# 24, 1024 dims), which cannot run on 12 layers. Other models set models.<name>.retrieval_layer.
RETRIEVAL_LAYERS = {
    "FacebookAI/xlm-roberta-large": 14,
    "xlm-roberta-large": 14,
    "FacebookAI/xlm-roberta-base": 8,
    "xlm-roberta-base": 8,
    "google-bert/bert-base-multilingual-cased": 8,
    "bert-base-multilingual-cased": 8,
}

# (layers, hidden, feed-forward) of the same hub ids: `validate` checks the retrieval layer
# against the depth, `xstilts plan` counts parameters, without the network.
MODEL_SHAPES = {
    "FacebookAI/xlm-roberta-large": (24, 1024, 4096),
    "xlm-roberta-large": (24, 1024, 4096),
    "FacebookAI/xlm-roberta-base": (12, 768, 3072),
    "xlm-roberta-base": (12, 768, 3072),
    # Goyal et al. 2021 (arXiv 2105.00572) Table 1: XLM-R XL, 36 layers, hidden 2560, FFN 10240
    "facebook/xlm-roberta-xl": (36, 2560, 10240),
    "google-bert/bert-base-multilingual-cased": (12, 768, 3072),
    "bert-base-multilingual-cased": (12, 768, 3072),
}
# Vocabulary sizes (embedding parameters, which AdamW updates every step) of MODEL_SHAPES' ids,
# by a substring of the id.
VOCAB = {"xlm-roberta": 250_002, "bert-base-multilingual-cased": 119_547}
