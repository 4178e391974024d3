-- One piece of the captures: consecutive staged parts of parsed pages, up to 48 MB of them
-- (see newswh/load.py), so no more page text than that is ever in flight, and each piece is
-- committed on its own.
insert into captures by name select * from piece_captures;
