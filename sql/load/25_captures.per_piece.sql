-- One piece of the captures: a staged part of parsed pages (see newswh/load.py), so no more
-- page text than one part is ever in flight, and each piece is committed on its own.
insert into captures by name select * from piece_captures;
