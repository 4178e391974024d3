-- The outlet filter's choices.
select outlet from outlets order by articles desc, outlet
