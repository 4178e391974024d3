-- The rejects dataset: one file, every column.
select * from rejects
