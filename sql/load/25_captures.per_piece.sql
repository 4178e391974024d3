-- One piece of the captures: consecutive staged parts of parsed pages, up to 48 MB of them
-- (see newswh/load.py), so no more page text than that is ever in flight, and each piece is
-- committed on its own.
-- A file whose new content holds less than its archived capture keeps that (20_captures.sql).
insert into captures by name
select * from piece_captures where source_path not in (select source_path from kept_captures);
