"""The documents the throughput benchmark reads: dense scans, born-digital notes, tiny scans."""

import random
from collections.abc import Callable

# --- Generated documents ---------------------------------------------------------------------------

NAMES = ["Maria Alvarez", "John Whitaker", "Aisha Rahman", "Peter Novak", "Linda Chen", "Samuel Okafor"]
SECTIONS = [
    "CHIEF COMPLAINT",
    "HISTORY OF PRESENT ILLNESS",
    "PAST MEDICAL HISTORY",
    "MEDICATIONS",
    "REVIEW OF SYSTEMS",
    "PHYSICAL EXAMINATION",
    "LABORATORY DATA",
    "ASSESSMENT AND PLAN",
]
SENTENCES = [
    "The patient is a {age}-year-old {sex} with a history of hypertension and type 2 diabetes mellitus.",
    "{He} presents today for follow-up of chronic kidney disease, stage {stage}, and reports mild fatigue.",
    "Blood pressure {sys}/{dia} mmHg, heart rate {hr} beats per minute, temperature {temp} F, "
    "SpO2 {spo2}% on room air.",
    "{He} denies chest pain, palpitations, orthopnea or paroxysmal nocturnal dyspnea.",
    "Metformin {met} mg twice daily, lisinopril {lis} mg daily and atorvastatin 40 mg at bedtime were continued.",
    "Hemoglobin A1c was {a1c}% on {date}, improved from {a1c2}% three months earlier.",
    "Creatinine {cr} mg/dL with an estimated GFR of {gfr} mL/min/1.73 m2; potassium {k} mmol/L.",
    "Lungs are clear to auscultation bilaterally without wheezes, rales or rhonchi.",
    "Abdomen is soft, non-tender and non-distended, with normal bowel sounds in all four quadrants.",
    "There is trace bilateral pitting edema of the lower extremities to the level of the ankles.",
    "{He} was counseled on a low-sodium diet, regular exercise and home blood pressure monitoring.",
    "Return to clinic in {weeks} weeks with repeat basic metabolic panel and urine albumin-to-creatinine ratio.",
    "Neurological examination is non-focal; cranial nerves II through XII are grossly intact.",
    "Influenza and pneumococcal vaccinations were reviewed and are up to date as of {date}.",
    "An electrocardiogram showed normal sinus rhythm at {hr} bpm with no acute ST-segment changes.",
    "Allergies: penicillin (rash) and sulfonamides (hives); no known latex allergy.",
    "Social history is notable for a {pack}-pack-year smoking history; {he} quit in {year}.",
    "Family history: father with myocardial infarction at age {fage}, mother with breast cancer.",
]


def _fill(template: str, rng: random.Random) -> str:
    male = rng.random() < 0.5
    values = {
        "age": rng.randint(34, 91),
        "sex": "man" if male else "woman",
        "He": "He" if male else "She",
        "he": "he" if male else "she",
        "stage": rng.choice(["2", "3a", "3b"]),
        "sys": rng.randint(112, 168),
        "dia": rng.randint(64, 98),
        "hr": rng.randint(56, 104),
        "temp": f"{rng.uniform(97.2, 99.6):.1f}",
        "spo2": rng.randint(92, 99),
        "met": rng.choice([500, 850, 1000]),
        "lis": rng.choice([5, 10, 20, 40]),
        "a1c": f"{rng.uniform(6.1, 9.8):.1f}",
        "a1c2": f"{rng.uniform(6.5, 10.5):.1f}",
        "date": f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{rng.randint(2021, 2025)}",
        "cr": f"{rng.uniform(0.8, 2.4):.2f}",
        "gfr": rng.randint(28, 89),
        "k": f"{rng.uniform(3.5, 5.4):.1f}",
        "weeks": rng.choice([2, 4, 6, 12]),
        "pack": rng.randint(5, 40),
        "year": rng.randint(1995, 2022),
        "fage": rng.randint(45, 70),
    }
    return template.format(**values)


def clinical_note_lines(page: int, fits: Callable[[str], bool], rng: random.Random, max_lines: int) -> list[str]:
    """About `max_lines` lines of a progress note, each short enough that `fits(line)` is True."""
    lines = [
        f"PROGRESS NOTE - {rng.choice(NAMES)} - MRN {rng.randint(10**7, 10**8 - 1)} - Page {page}",
        f"Date of service: {rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/2024   Provider: Dr. R. Iyer, MD",
        "",
    ]
    while len(lines) < max_lines:
        lines.append(rng.choice(SECTIONS) + ":")
        paragraph = " ".join(_fill(rng.choice(SENTENCES), rng) for _ in range(rng.randint(3, 6)))
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}".strip()
            if fits(candidate):
                line = candidate
            else:
                lines.append(line)
                line = word
        lines.append(line)
        lines.append("")
    return lines[:max_lines]


def dense_scanned_pdf(pages: int, seed: int = 7, *, bilevel: bool = False) -> bytes:
    """A scanner-like PDF: letter pages at 300 DPI, 40 lines of 12-point text each (~3,500
    characters); grayscale (about 0.8 MB a page), or black and white as office scanners send
    them (`bilevel`, about 90 KB a page)."""
    import io

    from PIL import ImageFont

    from tests.factories import text_page

    dpi = 300
    font = ImageFont.load_default(size=round(12 * dpi / 72))  # the font text_page draws with
    usable = 8.5 * dpi - 2 * (dpi // 2)
    lines_per_page = int((11 * dpi - 2 * (dpi // 2)) // round(18 * dpi / 72))
    rng = random.Random(seed)
    images = [
        text_page(
            clinical_note_lines(n, lambda s: font.getlength(s) <= usable, rng, lines_per_page),
            dpi=dpi,
            height_in=11.0,
        )
        for n in range(1, pages + 1)
    ]
    if bilevel:
        images = [image.convert("1") for image in images]
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return buffer.getvalue()


def born_digital_pdf(pages: int, seed: int = 11) -> bytes:
    """A reportlab PDF with 45 lines of 12-point Helvetica on every page."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from tests.factories import born_digital_pdf as render

    rng = random.Random(seed)
    return render(
        [clinical_note_lines(n, lambda s: stringWidth(s, "Helvetica", 12) <= 468, rng, 45) for n in range(1, pages + 1)]
    )


def small_scanned_pdf(pages: int) -> bytes:
    """1-inch-tall 300-DPI pages with one line of text: memory growth, not OCR cost."""
    from tests.factories import scanned_pdf

    return scanned_pdf(
        [[f"Page {n}: patient tolerated the procedure well, vitals stable."] for n in range(1, pages + 1)],
        height_in=1.0,
    )
