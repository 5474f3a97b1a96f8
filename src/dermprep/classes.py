"""The seven HAM10000 diagnostic classes, in the order every dermprep label uses."""

from __future__ import annotations

__all__ = ["CLASS_NAMES", "CLASS_DESCRIPTIONS"]

#: HAM10000 ``dx`` codes in label order (alphabetical, as in the ISIC 2018 challenge).
CLASS_NAMES: tuple[str, ...] = ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")

#: Human-readable name of each class.
CLASS_DESCRIPTIONS: dict[str, str] = {
    "akiec": "actinic keratosis / intraepithelial carcinoma (Bowen's disease)",
    "bcc": "basal cell carcinoma",
    "bkl": "benign keratosis-like lesion (solar lentigo, seborrheic keratosis, lichen planus-like keratosis)",
    "df": "dermatofibroma",
    "mel": "melanoma",
    "nv": "melanocytic nevus",
    "vasc": "vascular lesion (angioma, angiokeratoma, pyogenic granuloma, haemorrhage)",
}
