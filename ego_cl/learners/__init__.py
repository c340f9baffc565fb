"""Networks, checkpoint key mapping and online learners (implementations of ``Learner``)."""
