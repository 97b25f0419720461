"""Match stage: which brand(s) a post is about and which language it is written in.

`BrandMatcher` finds brand mentions (aliases, word boundaries, excludes) with spans in the
original text; `LanguageDetector` names the post's language, or None when it is unsure.
"""

from monitor.match.brands import BrandMatcher, BrandSpec, Mention
from monitor.match.language import LanguageDetector

__all__ = ["BrandMatcher", "BrandSpec", "LanguageDetector", "Mention"]
