"""The reading engine: plain functions that turn a file into pages of text and words, and
pages into clinical records. No Django here: every setting comes in as an argument
(`processing.options` builds them from the settings), so `manage.py process`, the workers
and a future separate OCR service call the same functions, and their tests need no database.

    validation   is this a file we can read?       quick_check(upload, …) at upload; check_file_in_box(…)
    reader       one page, or a run of text pages  read_page / read_text_pages(…, ReadOptions)
      rendering  poppler and Pillow: page images
      textlayer  poppler: a PDF's own text with word boxes
      ocr        Tesseract: text, words, boxes and confidences
    sandbox      the box every tool reading a file runs in (prlimit, output caps)
    passes       encounters, entities, structured records: run_passes(pages)
    inline       a whole local file in this process: process_file(…)
    results      the JSON shape of a read document
"""
